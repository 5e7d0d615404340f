"""Names of people, mixed the way a multinational's customers and staff are.

The same surname list serves customers and staff, ordered from common to rare, so that
employees share surnames with customers as often as in life (namesakes are not relatives).
"""

import numpy as np


def _words(text: str, distinct: bool = True) -> tuple[str, ...]:
    """The words of ``text`` in their order, each once unless ``distinct`` is false."""
    words = text.split()
    return tuple(dict.fromkeys(words) if distinct else words)


SURNAMES = _words("""
    Smith Nowak Garcia Santos Reyes Jones Kowalski Murphy Wilson Brown Taylor Cruz Kelly
    Williams Davies Evans Lewandowski Wojcik Walsh Byrne Ryan Thomas Johnson Roberts
    Patel Martinez Lopez Hernandez Gonzalez Bautista Mendoza Ramos Aquino Flores
    Castillo Walker Wright Thompson White Hughes Edwards Green Hall Wood Harris Martin
    Jackson Clarke Clark Kaminski Zielinski Szymanski Wozniak Dabrowski Kozlowski
    Jankowski Mazur Krawczyk Piotrowski OBrien OConnor McCarthy Doyle Lynch Murray Quinn
    Moore Sharma Singh Kumar Gupta Shah Khan Ali Ahmed Hussain Begum Rahman Nguyen Tran
    Le Pham Kim Lee Park Chen Wang Li Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Muller
    Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Rossi Russo
    Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Dubois Durand Leroy
    Moreau Simon Laurent Lefebvre Michel Fournier Girard Bonnet Dupont Lambert Fontaine
    Rousseau Vincent Anderson Miller Davis Rodriguez Young Allen King Scott Hill Adams
    Baker Nelson Carter Mitchell Perez Turner Phillips Campbell Parker Collins Stewart
    Sanchez Morris Rogers Reed Cook Morgan Bell Cooper Richardson Cox Howard Ward Torres
    Peterson Gray Ramirez James Watson Brooks Sanders Price Bennett Barnes Ross
    Henderson Coleman Jenkins Perry Powell Long Patterson Washington Butler Simmons
    Foster Bryant Alexander Russell Griffin Diaz Hayes Okafor Okonkwo Adeyemi Mensah
    Boateng Osei Nkemelu Abubakar Ibrahim Mohammed Yilmaz Kaya Demir Sahin Celik Novak
    Horvat Kovac Popescu Ionescu Petrov Ivanov Smirnov Kuznetsov Popov Sokolov Lebedev
    Kozlov Novikov Morozov Volkov Pavlov Andersen Nielsen Hansen Pedersen Larsen Jensen
    Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson
    Virtanen Korhonen Makinen Silva Oliveira Souza Pereira Costa Rodrigues Almeida
    Nascimento Lima Araujo Fernandes Carvalho Gomes Martins Rocha Ribeiro Alves Teixeira
    Moreira Cardoso Dela Villanueva Navarro Pascual Salazar Ocampo Manalo Dizon
    Tolentino Soriano Valdez Gutierrez Castro Morales Ortiz Jimenez Ruiz Alvarez Romero
    Vasquez Herrera Medina Aguilar Vargas Guzman Fitzgerald Gallagher Brennan Kavanagh
    Nolan Duffy Kennedy Sheehan Fraser Macdonald Robertson Reid Paterson Ferguson Grant
    Hamilton Graham Sinclair Ogilvy Iyer Nair Reddy Rao Menon Pillai Desai Joshi Mehta
    Chopra Malhotra Kapoor Bose Banerjee Chatterjee Mukherjee Das Ghosh Sato Suzuki
    Takahashi Tanaka Watanabe Ito Yamamoto Nakamura
""")

# Kept as drawn from (a name listed twice is drawn twice as often).
FIRST_NAMES = _words(
    """
    Anna Piotr Maria Jan Katarzyna Tomasz Agnieszka Pawel Joanna Michal Olivia Jack
    Amelia Harry Isla Oscar Ava George Emily Noah Mia Leo Grace Arthur Sophie James
    Chloe Thomas Aoife Conor Niamh Sean Ciara Liam Maria Jose Angel Mark Kristine John
    Princess Paolo Jasmine Carlo Priya Arjun Ananya Rohan Kavya Vikram Aisha Omar Fatima
    Yusuf Zainab Hannah Lukas Lena Felix Clara Jonas Giulia Marco Chiara Luca Camille
    Hugo Manon Louis Wei Ming Hui Jun Mei Hiroshi Yuki Minh Linh Sofia Mateo Valentina
    Diego Lucia Ethan Emma Mason Ava Logan Chioma Kwame Ama Kofi Emeka Ngozi Elif Mehmet
    Ayse Ivan Olga Dmitri Anastasia Lars Ingrid Erik Astrid Ana Joao Beatriz Pedro
    Mariana Rafael
""",
    distinct=False,
)


def surname_weights() -> np.ndarray:
    """A long-tailed surname distribution: namesakes are common, as they are in life."""
    w = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.85
    return w / w.sum()
